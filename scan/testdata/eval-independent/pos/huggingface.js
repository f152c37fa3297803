const hfToken = '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';
const hfToken = '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';
const hfToken = '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';
const hfToken = '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';
const hfToken = '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';
const hfToken = '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';
