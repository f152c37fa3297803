const apiKey = 'OiCUBNLrq5TKJK3kbQKDHmfo3YXbARWO';
const apiKey = 'RNgQ5ekRM4EFLj5bb2XY1nzDHrHoESPZ';
const apiKey = 'B4rYm1KybM2kvh5ROog9dZKVtAi2ZSvJ';
const apiKey = 'VWSelBFN2ytuUf172tnL2fIaOkIQYYjX';
const apiKey = 'wJof8wDHglnpgEHGSk4iqTvFRrEsGOaj';
const apiKey = 'eiRQpXFfT1UE4wRYVeb62aUprMLN8m7G';
