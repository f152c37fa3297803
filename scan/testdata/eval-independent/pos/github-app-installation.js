const githubAppToken = 'ghs_D50aA0IL2y368w8KSGOOQouX36xjgF4Ri2jk';
const githubAppToken = 'ghs_QZtdmFH4FvktgTpcricxuLvHBU6Gpi4dd6Yi';
const githubAppToken = 'ghs_1JguVlRtGkZ8xY5hymIxKHhcdUwRZL4KxuM5';
const githubAppToken = 'ghs_tjsBKd5TqPHPPt18uq9gqXhBn38oge1Z9WtO';
const githubAppToken = 'ghs_jDdOSC2Uy45hVYujiyPMHkJbHm5Zt33HCAMq';
const githubAppToken = 'ghs_g7GUQhdcXFXvU7HU7hth23bSTqavHp2yFkgb';
