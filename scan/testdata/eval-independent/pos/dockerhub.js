const dockerhubToken = 'dckr_pat_0x9V9cSYShNbigGbCei-0_Ao9lS';
const dockerhubToken = 'dckr_pat_XcOtRYacLGZxPxIPtY08BlWGpCt';
const dockerhubToken = 'dckr_pat_-IVNhi6us_X1NCwbsYSVgOjqVPS';
const dockerhubToken = 'dckr_pat_svJmF3HU8WmPEGhQz4oL4pHnmAe';
const dockerhubToken = 'dckr_pat_uCmlEmBG0OUrIUDZ0-u8xOMT0IK';
const dockerhubToken = 'dckr_pat_sb3n7DuoTj1EXoicJBe6L6LGUOm';
