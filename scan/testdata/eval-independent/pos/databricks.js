const databricksToken = 'dapib05daa931fbacd50bc706ffeaf75c96f';
const databricksToken = 'dapi6834f3b77bac271c11f0e6d6933f39d3';
const databricksToken = 'dapi47b953afd4a8a6221079a86d1807347b';
const databricksToken = 'dapi6075dbc5f9cb5213f72a7ccafeeaebb4';
const databricksToken = 'dapi21d1ab778daa686808a2c4df91b47d20';
const databricksToken = 'dapid20e0d0cf5fff46cca74420f1b1ddc35';
