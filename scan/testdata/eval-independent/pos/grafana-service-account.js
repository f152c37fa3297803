const grafanaToken = 'glsa_A06zrwwlTO3gvAKVXve5cG66rZTRExsa_5db62b66';
const grafanaToken = 'glsa_KXHIDEDJ4F8tTybK7x3OkkrNSz7B8iIj_e11e67e9';
const grafanaToken = 'glsa_IZGgvRNYOt8gUVmYHZMC7Hm2jzzi3tq2_eb704b7b';
const grafanaToken = 'glsa_IAaXhEIdAwWhq6YilL6bLq5k4dgRENE9_29d2b359';
const grafanaToken = 'glsa_RluK01JGtrEIk4Rq7a5UsJgF5ungxRxg_9775c4e0';
const grafanaToken = 'glsa_U2Z8fH2q1BQYDKQDfWqoZcKKwTjpRUZV_974b5c4d';
