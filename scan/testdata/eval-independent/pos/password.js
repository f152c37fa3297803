const dbPassword = '7EuV~xSOFx3rG!lr';
const dbPassword = '_9.V-LQA2^5H3GQ!';
const dbPassword = '0Hmj%v4-Qrc~-#3n';
const dbPassword = 'oJRe_Z435XJf6JIH';
const dbPassword = 'AsDS^ml2!Q.46Uox';
const dbPassword = 'Vp.5Qqndk#~PtEm3';
