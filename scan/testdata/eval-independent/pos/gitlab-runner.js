const ciRunnerToken = 'glrt-FD9bTxVxwW6dVX0YB4vC';
const ciRunnerToken = 'glrt-eFPx7ibQRo022mZesAFP';
const ciRunnerToken = 'glrt-n4jVPwfKkWjSqZwdmo3u';
const ciRunnerToken = 'glrt-FkjiJXvrkroRiuRSL35N';
const ciRunnerToken = 'glrt-Xji0xLg4racrwkZqCafu';
const ciRunnerToken = 'glrt-NRmI25ghJ0oCSXjPKAkD';
