const googleApiKey = 'AIzaNtt43Wvc7c0DfyZF0Tho45ESAgcgQVUNZd_';
const googleApiKey = 'AIzacUstnY4DN7daxDYao-HWD7v8BNdGd-DpWuO';
const googleApiKey = 'AIzaEFmhYgFmCJgc3iChltcDSVgGwQCjZCjd4t5';
const googleApiKey = 'AIzatsInZlDgPfqgNZdP-dfGQK3hfGtxoGy7qA8';
const googleApiKey = 'AIzaZ4KwVp7V95R-STcdtg8zLv0qgpC8b-Oqu44';
const googleApiKey = 'AIzasrccHZs0c3zdf54UbGSdUqeAE27s_vpWrv_';
