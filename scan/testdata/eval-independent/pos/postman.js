const postmanApiKey = 'PMAK-c28894903668ef848ea8b9e6-e518dea64653cb1897af54d5341a4811eb';
const postmanApiKey = 'PMAK-3792cb023b5730cf37993233-e4cd40b58bc5626ea62ed452bcdcad9db4';
const postmanApiKey = 'PMAK-8be4058531a4cbb8630c6f5b-56261f07ca2c99de79dd7574a1bb4cbccb';
const postmanApiKey = 'PMAK-d9282bdf91c4fe6040f32e96-40517a9d6f6b0fc33425710d2ea3206539';
const postmanApiKey = 'PMAK-16359513cbd62c382cc6d47a-8d1d7d88b6df82a01ac359ad07386a58b7';
const postmanApiKey = 'PMAK-24273242006a01cca1976e5f-4af86d2bec32fa6775fed5c1652da6ace6';
