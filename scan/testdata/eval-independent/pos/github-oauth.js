const ghOauthToken = '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';
const ghOauthToken = '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';
const ghOauthToken = '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';
const ghOauthToken = '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';
const ghOauthToken = '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';
const ghOauthToken = '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';
