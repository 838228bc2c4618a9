package flows

import "math"

// earthRadius is the mean radius of the Earth in metres (IUGG).
const earthRadius = 6371008.8

// Distance is the great-circle distance in metres between two points
// given in degrees (haversine: well-conditioned for short distances, at
// the poles and across the antimeridian). Check-ins (SPEC §10) and the
// nearby check of reports (§15) both measure with it.
func Distance(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	φ1, φ2 := lat1*rad, lat2*rad
	dφ, dλ := (lat2-lat1)*rad, (lng2-lng1)*rad
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * earthRadius * math.Asin(math.Sqrt(math.Min(1, h)))
}
