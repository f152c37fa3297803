const ddApiKey = 'b595aa4ea0654f13f32ac14134a62556';
const ddApiKey = 'aff2c013a19bfaab9aafbf779f851e5a';
const ddApiKey = 'e72348df09dad495901ff9bcc0bdc03b';
const ddApiKey = '02861f0812d302fbcc80943e1d3d4e0f';
const ddApiKey = '81be0d84e5c7740fc971242735e5e6f5';
const ddApiKey = '66f175eeb1677da631096ff522306e53';
