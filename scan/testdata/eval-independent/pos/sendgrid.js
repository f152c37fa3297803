const sendgridApiKey = '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';
const sendgridApiKey = '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';
const sendgridApiKey = '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';
const sendgridApiKey = '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';
const sendgridApiKey = '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';
const sendgridApiKey = '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';
