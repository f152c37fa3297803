const twilioApiKey = 'SK8acafdf2d93d3c962b051bbca678d886';
const twilioApiKey = 'SKf72d1fc1215882bebff0740115a5fb08';
const twilioApiKey = 'SK8709c496c43b1783e7e947b16b131bb8';
const twilioApiKey = 'SKc79b03e8ea6abf2b94d3738c6c449482';
const twilioApiKey = 'SK2f28488cb4113ca720b8a22f38b455b7';
const twilioApiKey = 'SK4a7078943a114273e00d61a70484712c';
