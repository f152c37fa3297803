const githubRefreshToken = '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';
const githubRefreshToken = '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';
const githubRefreshToken = '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';
const githubRefreshToken = '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';
const githubRefreshToken = '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';
const githubRefreshToken = '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';
