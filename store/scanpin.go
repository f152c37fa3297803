package store

// .hush/scan.yaml says which findings hush scan (and the pre-commit hook)
// accepts. It comes from the repository like hush.yaml, so a pushed commit
// that adds `paths: ["**"]` or `rules: [known-value]` would switch the scan
// off for everyone who pulls it. Its entries are pinned like a setting: an
// entry this user has not acknowledged is not applied (the scan reports
// more, never less) until hush ack pins it. Removing an entry needs no
// acknowledgement: it can only make the scan stricter.

// PinnedScanAllow returns the allowlist entries this user acknowledged
// and whether there is such a pin.
func (p *Project) PinnedScanAllow() ([]string, bool, error) {
	pf, err := p.readPins()
	if err != nil {
		return nil, false, err
	}
	if pf.ScanAllow == nil {
		return nil, false, nil
	}
	return append([]string(nil), (*pf.ScanAllow)...), true, nil
}

// PinScanAllow records entries as the acknowledged allowlist.
func (p *Project) PinScanAllow(entries []string) error {
	return p.updatePins(false, func(pf *pinFile) bool {
		e := append([]string{}, entries...)
		pf.ScanAllow = &e
		return true
	})
}
