const linearApiKey = 'lin_api_eUH0TE02TQffpAu5hNLXHVqWf4uUljRc6lXJ7mgf';
const linearApiKey = 'lin_api_qLeamvC6v35BTEVlHq13nOBDIraCSvxaHRHR0gle';
const linearApiKey = 'lin_api_4SXqkngj04x3Rha6nRTBdlRRWDUcGHQFqqGS0Swc';
const linearApiKey = 'lin_api_HQDaUsWHl4uxe9KdvpPFtoBZLoBVsVaGRFHKj5yv';
const linearApiKey = 'lin_api_YmZBaMPePYfoTbDVNUaGk531yIMOOtsxzHh27hbn';
const linearApiKey = 'lin_api_sMEPr9QVTR5ALWI4hGALt4h9fCnweL1xCJWfVz1H';
