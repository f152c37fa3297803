const gitlabToken = 'glpat-xOommP88TDlN63YOeYuS';
const gitlabToken = 'glpat-oT9SCcjPUqbbUbIKRHTe';
const gitlabToken = 'glpat-bjVATbH9yFXmwJlanGkD';
const gitlabToken = 'glpat-Yc2VGJRl-XTk0rzifIh0';
const gitlabToken = 'glpat-yTbsHvpDUxOAEOdXvL9h';
const gitlabToken = 'glpat-fiDy4C5bzEeAG5S2tQUY';
