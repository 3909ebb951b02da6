package coverage

// interval is a covered stretch [A, B] in metres along a segment.
type interval struct{ A, B float64 }

// touchM: stretches closer than this are one (the ends of consecutive credits differ by
// rounding).
const touchM = 1e-6

// addInterval merges [a, b] into the sorted, disjoint set iv and returns the new set.
func addInterval(iv []interval, a, b float64) []interval {
	if b < a {
		a, b = b, a
	}
	// Find the first interval ending at or after a.
	i := 0
	for i < len(iv) && iv[i].B < a-touchM {
		i++
	}
	j := i
	for j < len(iv) && iv[j].A <= b+touchM {
		a = min(a, iv[j].A)
		b = max(b, iv[j].B)
		j++
	}
	if i == j {
		iv = append(iv, interval{})
		copy(iv[i+1:], iv[i:])
		iv[i] = interval{a, b}
		return iv
	}
	iv[i] = interval{a, b}
	return append(iv[:i+1], iv[j:]...)
}

// covered is the total length of a disjoint set clipped to [0, length].
func covered(iv []interval, length float64) float64 {
	var sum float64
	for _, x := range iv {
		a, b := max(x.A, 0), min(x.B, length)
		if b > a {
			sum += b - a
		}
	}
	return min(sum, length)
}
