package analyze

import "net/netip"

// sharedAddressSpace is RFC 6598's carrier-grade NAT range.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// addressClass names the kind of address an endpoint announcement carries,
// in the words an administrator would use.
func addressClass(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.Is4() && a.IsPrivate():
		return "private (RFC 1918)"
	case a.IsPrivate():
		return "unique local (RFC 4193)"
	case sharedAddressSpace.Contains(a):
		return "shared address space (RFC 6598, carrier-grade NAT)"
	}
	return "public"
}

// unroutable reports whether an address cannot be reached from the public
// internet: private, shared, loopback, link-local or unspecified.
func unroutable(a netip.Addr) bool {
	return addressClass(a) != "public"
}
