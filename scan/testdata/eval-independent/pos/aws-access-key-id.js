const awsAccessKeyId = 'AKIAGVZJWOT7CYJKY75D';
const awsAccessKeyId = 'AKIAOVMCN2EXZ2E4AOBW';
const awsAccessKeyId = 'AKIAPNSCBBRBRHILXTJJ';
const awsAccessKeyId = 'AKIAKCBTXMGVBQDELAAA';
const awsAccessKeyId = 'AKIAUGKKYZGGI4UZDLWJ';
const awsAccessKeyId = 'AKIAAJIMSLJEJW5TIBAJ';
