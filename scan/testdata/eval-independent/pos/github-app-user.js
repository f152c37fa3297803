const githubUserToken = 'ghu_SHbrLaNyUN6xDUnglJMa11OZg37lHa12MKKS';
const githubUserToken = 'ghu_cAGKDSGtaApzk4lrUDRpF9LDHTJZGX47jzNn';
const githubUserToken = 'ghu_lLOtyZ5pjeNPfFRhBFHz7VCzNHjTD63jSBht';
const githubUserToken = 'ghu_IWASAGFcTeUkNe2VTVF21vbnRhgatZ0qhcz3';
const githubUserToken = 'ghu_yOmNCPyrQtz8ti5Qkz36Yf1urPjfTa2nyUvb';
const githubUserToken = 'ghu_lMZxpGM0Z5WtP85U22pEP72I5kfgdO2jsdSg';
