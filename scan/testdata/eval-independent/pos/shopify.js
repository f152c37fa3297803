const shopifyAccessToken = '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';
const shopifyAccessToken = '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';
const shopifyAccessToken = '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';
const shopifyAccessToken = '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';
const shopifyAccessToken = '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';
const shopifyAccessToken = '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';
