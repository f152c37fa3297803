const slackBotToken = 'xoxb-80581997422-1276390097031-3jRnhYjMrtE8eyVXSB5d3dlv';
const slackBotToken = 'xoxb-41233250622-7936582525217-GkDogRu9UCuGO1T9sI7GD6Nv';
const slackBotToken = 'xoxb-54682612139-2402630608802-1LPnisTV2KXIokY1CtU7U7OB';
const slackBotToken = 'xoxb-66073376507-4666300929093-HCAOBJedQXphvtW4o9NGeIbP';
const slackBotToken = 'xoxb-19120881948-6832060247873-V7LpYVKdddz8UljsUvWElQgg';
const slackBotToken = 'xoxb-08845784072-3498257856636-uUUaOs9MoBGXwuWaiAl1h5m9';
