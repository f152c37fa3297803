const planetscaleToken = 'pscale_tkn_9rCSxFEReNny88wVEbjoPZDTkbZX0Jq-RNFSmok3u_x';
const planetscaleToken = 'pscale_tkn_W1EbTweDpBhYoEgziDesuVzTrYPEZjDOnorMEssS-oi';
const planetscaleToken = 'pscale_tkn_X0ZhehCAgDeG-Lqg3EA9caZC_E5z6VLx5QZ3q9EVLCF';
const planetscaleToken = 'pscale_tkn_2X0LpydlnkUxgqNZQyolVfBaNzQrk1Qatoc-8fjWW3r';
const planetscaleToken = 'pscale_tkn_32Y0J0UE-6clfJlUSkuX89I6nLAzOKImnbIl3WiSzmx';
const planetscaleToken = 'pscale_tkn_YBdpoZ6INz7c8bUPXieJ7FGGvOHCf7CjaE6WSuPWL1V';
