const supabaseAccessToken = 'sbp_93e5e1f05a6cadc716d404d16e28fedd78d8c8ef';
const supabaseAccessToken = 'sbp_5bc0361bf02569897c77ad3ac97f7588f3c54577';
const supabaseAccessToken = 'sbp_c7838cc423e1c191cc6a892cf44dcd55033562d6';
const supabaseAccessToken = 'sbp_a1757efd6cb4b88384c340a5f663fad4bfe3ceb8';
const supabaseAccessToken = 'sbp_2f6ecc016d995f454163a165a648d17e71f64730';
const supabaseAccessToken = 'sbp_d0596e871624bc224fa6915612a1916ddff6b63c';
