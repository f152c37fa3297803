const awsSecretAccessKey = 'FE9od8CpQzyn3KBNWJlRVYrqdOwj9C8UtbBNbcKh';
const awsSecretAccessKey = 'cj50YlM2GNUDWx8z6QsEfHA+OZVFIMr9yCyuD7aU';
const awsSecretAccessKey = 'Sk1v3rDJjV4OQKNRiSmLaXV51S6hEBaBiwy8ZU7I';
const awsSecretAccessKey = 'b4Pyc0qyDMV0Ud4IgX8uWUkNoKaMF6+iN4OAISLx';
const awsSecretAccessKey = '2EQuE65+bJxZDEQeKxAlKMK2D5A+zoifDJhqdWRo';
const awsSecretAccessKey = '/slta3Ke5EQudIG+BZV2lpm6TS3xYGeAqgu9s3fp';
