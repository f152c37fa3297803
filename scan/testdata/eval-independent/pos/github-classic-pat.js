const githubToken = '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';
const githubToken = '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';
const githubToken = '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';
const githubToken = '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';
const githubToken = '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';
const githubToken = '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';
