const mailgunApiKey = 'key-a6f92e07fe5ef2376df52a999f7fc2fc';
const mailgunApiKey = 'key-101344702956144e0d360ad5d1794900';
const mailgunApiKey = 'key-1a8c72520447b04a3a7d8c4c077e53ef';
const mailgunApiKey = 'key-8606366b7045de03b53d9b865fa6963e';
const mailgunApiKey = 'key-8901e722e1d5ecf9fd58e4035df8b096';
const mailgunApiKey = 'key-98a9b073775720420f027f42adfc87d3';
