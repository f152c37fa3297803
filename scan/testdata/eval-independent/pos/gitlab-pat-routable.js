const gitlabToken = 'glpat-mf1B1LFwfo06_ZI0zxqREDBfxSAwognJt-WSmz_u6cMZGmrOVTBBp1kavGsJwGpJRh_U5ezuVryoW8ORqNVpmA.01.xx57cnghj';
const gitlabToken = 'glpat-Pjt0rDbCUt4i17RXZ67cslflYPRNSKwcDLrmTEl797Tjktwe5-k2SsAOOneUAAclB0DmWtpWj.01.j6kfk6bo3';
const gitlabToken = 'glpat-3i29OXQRgguGcD_-YALJzNIvnbkU7ICzedymWmfeHOrEpsvJC78BgXjYWvIRmCSEqAQyhK9m.01.sfwxizjue';
const gitlabToken = 'glpat-yLmQ0YHUC54_i9f2f2sKd1pGqguynGjaduOWO5Na3nxeoQ93OO2jK.01.82025bhn4';
const gitlabToken = 'glpat-aE_lpQsJjrHb5G9FB7AsEwY4Hto6snd.01.f9tfou7mj';
const gitlabToken = 'glpat--qWd_8dAB7Wt7YbGOWWDTXl9c_QmJniuHOe6iAdaCkoXOpVbEp4eLv9PDQjvDI1lCoe2A7y1k7Oz.01.nvkioxxkt';
