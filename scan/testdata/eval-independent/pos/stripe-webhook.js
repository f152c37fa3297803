const stripeWebhookSecret = 'whsec_Ld5mgcB7Ivn8x88MYee8qvJOGQFj7h2M';
const stripeWebhookSecret = 'whsec_6BxU7LmYNGgPW6pwg89S0YeVpM5FLOnE';
const stripeWebhookSecret = 'whsec_n9e6qU0mJdS2a1MZbjNjytrhBZRbdLgx';
const stripeWebhookSecret = 'whsec_88QTatm9NGofV4D5HhPmyMrrCjaEQ3lE';
const stripeWebhookSecret = 'whsec_lLMyJRJ0UMd1VxsAVByc6IXGFKxZlqdL';
const stripeWebhookSecret = 'whsec_kvRQsRrhzkjGnN0pKl32HiIL23goMruQ';
