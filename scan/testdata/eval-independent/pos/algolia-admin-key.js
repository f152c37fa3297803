const algoliaAdminApiKey = '494100d1f271e168dbb040fa1a5c2cef';
const algoliaAdminApiKey = 'b36727ef7b024038f7a40f39d2d08f74';
const algoliaAdminApiKey = '686a8484e79e5346308b16e186f50535';
const algoliaAdminApiKey = '0990b06940b16f576ceeb22670030574';
const algoliaAdminApiKey = 'bec0a3aaa175ce171c4edd9c751c5b35';
const algoliaAdminApiKey = '02eec56773e7828e40b810609827499a';
