const dopplerToken = 'dp.pt.P0wngm3jVWsUTp0hK4ig1ubPeFOc8Qyv7xWE1dHOxyo';
const dopplerToken = 'dp.pt.JGeR9Gi4P0Pftd53DcgbLDo3mqioMmmR3R8qc9ggMBK';
const dopplerToken = 'dp.pt.B53BoPAscq7cZclvOPe3RlHD6gTN2AGIaOEMIBzC3zZ';
const dopplerToken = 'dp.pt.JpUpohtUP54Y4uXqmvv151XkkgBFntn1rSNPAPYrORj';
const dopplerToken = 'dp.pt.iPihHeFITMRQydacdYYQhKK41ugqp1qUNb4udaFo98W';
const dopplerToken = 'dp.pt.D4Q5HlclhRMABuRyAjZSClRaUNX7uKJMlcaKi9xqrct';
