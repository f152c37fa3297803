const npmToken = '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';
const npmToken = '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';
const npmToken = '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';
const npmToken = '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';
const npmToken = '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';
const npmToken = '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';
