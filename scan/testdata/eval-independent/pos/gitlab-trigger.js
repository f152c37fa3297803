const triggerToken = 'glptt-bcf1808be49997b4acca4362d52678e98f961c45';
const triggerToken = 'glptt-05a230f408a0868bdd40cd1c81bda08258b6ece1';
const triggerToken = 'glptt-b829706c60d12882d7521939c54bef59e7ff1ba9';
const triggerToken = 'glptt-d5f0090f002efb4d66b9a7ed59efa5b4a7f5e6ee';
const triggerToken = 'glptt-0a8a3b74ae752a7fd54d21ab40ffaf7290ea03ed';
const triggerToken = 'glptt-fc3a8c47b68dd1eb2be96f3c9317690f533fdb95';
