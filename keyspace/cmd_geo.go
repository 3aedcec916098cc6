package keyspace

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/persistkit/persistkit/format/rdb"
)

// This file follows Redis' geo.c and geohash.c: members are zset entries
// whose score is the 52-bit interleaved geohash (step 26) of their
// position. GEO*STORE searches by brute force over the zset with Redis'
// exact distance and shape tests, which selects the same members as its
// geohash-box walk.

const (
	geoLatMin      = -85.05112878
	geoLatMax      = 85.05112878
	geoLongMin     = -180.0
	geoLongMax     = 180.0
	geoStep        = 26
	earthRadiusM   = 6372797.560856
	degToRad       = math.Pi / 180.0
	geoMaxCountAll = 0
)

var (
	errGeoPair  = errors.New("invalid longitude,latitude pair")
	errGeoUnit  = errors.New("unsupported unit provided. please use M, KM, FT, MI")
	errGeoStore = errors.New("STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORDS options")
	errGeoShape = errors.New("exactly one of BYRADIUS and BYBOX arguments must be provided for GEOSEARCH")
	errGeoFrom  = errors.New("exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH")
	errGeoNoMem = errors.New("could not decode requested zset member")
)

func init() {
	register("GEOADD", -5, cmdGeoAdd)
	register("GEORADIUS", -6, cmdGeoRadius)
	register("GEORADIUSBYMEMBER", -5, cmdGeoRadius)
	register("GEOSEARCHSTORE", -8, cmdGeoSearchStore)
	for _, n := range []string{"GEOPOS", "GEODIST", "GEOHASH", "GEOSEARCH", "GEORADIUS_RO", "GEORADIUSBYMEMBER_RO"} {
		register(n, -2, noop)
	}
}

// spread interleaves zeros into the 32 bits of v (interleave64's halves).
func spread(v uint64) uint64 {
	v &= 0xffffffff
	v = (v | v<<16) & 0x0000FFFF0000FFFF
	v = (v | v<<8) & 0x00FF00FF00FF00FF
	v = (v | v<<4) & 0x0F0F0F0F0F0F0F0F
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}

func squash(v uint64) uint64 {
	v &= 0x5555555555555555
	v = (v | v>>1) & 0x3333333333333333
	v = (v | v>>2) & 0x0F0F0F0F0F0F0F0F
	v = (v | v>>4) & 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	v = (v | v>>16) & 0x00000000FFFFFFFF
	return v
}

// geoEncode is geohashEncodeWGS84 at step 26 as a zset score.
func geoEncode(lon, lat float64) float64 {
	latOff := (lat - geoLatMin) / (geoLatMax - geoLatMin) * (1 << geoStep)
	lonOff := (lon - geoLongMin) / (geoLongMax - geoLongMin) * (1 << geoStep)
	return float64(spread(uint64(uint32(latOff))) | spread(uint64(uint32(lonOff)))<<1)
}

// geoDecode is geohashDecodeToLongLatWGS84: the centre of the cell.
func geoDecode(score float64) (lon, lat float64) {
	// (uint64_t)score as x86-64 computes it, also for scores that are not
	// geohashes (a GEORADIUSBYMEMBER centre can be any zset member).
	var bits uint64
	switch {
	case math.IsNaN(score) || math.IsInf(score, 0) || score >= 1<<64:
		bits = 1 << 63
	case score < 0:
		bits = uint64(int64(score))
	default:
		bits = uint64(score)
	}
	ilat, ilon := float64(squash(bits)), float64(squash(bits>>1))
	const scale = 1 << geoStep
	latMin := geoLatMin + ilat/scale*(geoLatMax-geoLatMin)
	latMax := geoLatMin + (ilat+1)/scale*(geoLatMax-geoLatMin)
	lonMin := geoLongMin + ilon/scale*(geoLongMax-geoLongMin)
	lonMax := geoLongMin + (ilon+1)/scale*(geoLongMax-geoLongMin)
	lon = min(max((lonMin+lonMax)/2, geoLongMin), geoLongMax)
	lat = min(max((latMin+latMax)/2, geoLatMin), geoLatMax)
	return lon, lat
}

func geoLatDistance(lat1, lat2 float64) float64 {
	return earthRadiusM * math.Abs(lat2*degToRad-lat1*degToRad)
}

// geoDistance is geohashGetDistance (haversine).
func geoDistance(lon1, lat1, lon2, lat2 float64) float64 {
	lon1r, lon2r := lon1*degToRad, lon2*degToRad
	v := math.Sin((lon2r - lon1r) / 2)
	if v == 0 {
		return geoLatDistance(lat1, lat2)
	}
	lat1r, lat2r := lat1*degToRad, lat2*degToRad
	u := math.Sin((lat2r - lat1r) / 2)
	a := u*u + math.Cos(lat1r)*math.Cos(lat2r)*v*v
	return 2 * earthRadiusM * math.Asin(math.Sqrt(a))
}

func parseLonLat(lonArg, latArg []byte) (float64, float64, error) {
	lon, err := parseFloat(lonArg)
	if err != nil {
		return 0, 0, err
	}
	lat, err := parseFloat(latArg)
	if err != nil {
		return 0, 0, err
	}
	if lon < geoLongMin || lon > geoLongMax || lat < geoLatMin || lat > geoLatMax {
		return 0, 0, fmt.Errorf("%w %f,%f", errGeoPair, lon, lat)
	}
	return lon, lat, nil
}

func geoUnit(b []byte) (float64, error) {
	switch strings.ToLower(string(b)) {
	case "m":
		return 1, nil
	case "km":
		return 1000, nil
	case "ft":
		return 0.3048, nil
	case "mi":
		return 1609.34, nil
	}
	return 0, errGeoUnit
}

// cmdGeoAdd is GEOADD key [NX|XX] [CH] lon lat member ..., a ZADD with
// geohash scores.
func cmdGeoAdd(s *Store, args [][]byte) error {
	zadd := [][]byte{[]byte("ZADD"), args[1]}
	i := 2
	for ; i < len(args); i++ {
		if eq(args[i], "NX") || eq(args[i], "XX") || eq(args[i], "CH") {
			zadd = append(zadd, args[i])
			continue
		}
		break
	}
	rest := args[i:]
	if len(rest) == 0 || len(rest)%3 != 0 {
		return ErrSyntax
	}
	for j := 0; j < len(rest); j += 3 {
		lon, lat, err := parseLonLat(rest[j], rest[j+1])
		if err != nil {
			return err
		}
		zadd = append(zadd, strconv.AppendFloat(nil, geoEncode(lon, lat), 'g', -1, 64), rest[j+2])
	}
	return cmdZAdd(s, zadd)
}

// geoQuery is a parsed search: centre, shape, ordering, limit, stores.
type geoQuery struct {
	lon, lat      float64
	fromMember    []byte
	box           bool    // BYBOX instead of a radius
	radius        float64 // metres
	width, height float64 // metres
	unit          float64
	count         int64
	any           bool
	sort          int // 0 none, 1 asc, -1 desc
	store         []byte
	storeDist     bool
}

// parseGeoOpts reads the shared trailing options; georadius says which
// syntax (GEORADIUS* or GEOSEARCHSTORE) applies.
func parseGeoOpts(q *geoQuery, args [][]byte, georadius bool) error {
	var with bool
	// GEORADIUS* give the centre and radius positionally.
	hasFrom, hasShape := georadius, georadius
	for i := 0; i < len(args); i++ {
		a := args[i]
		rem := len(args) - i - 1
		switch {
		case eq(a, "WITHDIST"), eq(a, "WITHHASH"), eq(a, "WITHCOORD"):
			with = true
		case eq(a, "ANY"):
			q.any = true
		case eq(a, "ASC"):
			q.sort = 1
		case eq(a, "DESC"):
			q.sort = -1
		case eq(a, "COUNT") && rem >= 1:
			n, err := parseInt(args[i+1])
			if err != nil {
				return err
			}
			if n <= 0 {
				return errors.New("COUNT must be > 0")
			}
			q.count = n
			i++
		case georadius && (eq(a, "STORE") || eq(a, "STOREDIST")) && rem >= 1:
			q.store, q.storeDist = args[i+1], eq(a, "STOREDIST")
			i++
		case !georadius && eq(a, "STOREDIST"):
			q.storeDist = true
		case !georadius && eq(a, "FROMMEMBER") && rem >= 1 && !hasFrom:
			q.fromMember, hasFrom = args[i+1], true
			i++
		case !georadius && eq(a, "FROMLONLAT") && rem >= 2 && !hasFrom:
			lon, lat, err := parseLonLat(args[i+1], args[i+2])
			if err != nil {
				return err
			}
			q.lon, q.lat, hasFrom = lon, lat, true
			i += 2
		case !georadius && eq(a, "BYRADIUS") && rem >= 2 && !hasShape:
			r, err := parseFloat(args[i+1])
			if err != nil {
				return err
			}
			u, err := geoUnit(args[i+2])
			if err != nil {
				return err
			}
			if r < 0 {
				return errors.New("radius cannot be negative")
			}
			q.radius, q.unit, hasShape = r*u, u, true
			i += 2
		case !georadius && eq(a, "BYBOX") && rem >= 3 && !hasShape:
			w, err := parseFloat(args[i+1])
			if err != nil {
				return err
			}
			h, err := parseFloat(args[i+2])
			if err != nil {
				return err
			}
			u, err := geoUnit(args[i+3])
			if err != nil {
				return err
			}
			if w < 0 || h < 0 {
				return errors.New("height or width cannot be negative")
			}
			q.width, q.height, q.unit, q.box, hasShape = w*u, h*u, u, true, true
			i += 3
		default:
			if !georadius && (eq(a, "FROMMEMBER") || eq(a, "FROMLONLAT")) && hasFrom {
				return errGeoFrom
			}
			if !georadius && (eq(a, "BYRADIUS") || eq(a, "BYBOX")) && hasShape {
				return errGeoShape
			}
			return ErrSyntax
		}
	}
	if !georadius && !hasFrom {
		return errGeoFrom
	}
	if !hasShape {
		return errGeoShape
	}
	if with && (q.store != nil || !georadius) {
		return errGeoStore
	}
	if q.any && q.count == 0 {
		return errors.New("the ANY argument requires COUNT argument")
	}
	if q.count > 0 && q.sort == 0 && !q.any {
		q.sort = 1 // COUNT without ANY returns the nearest
	}
	return nil
}

// run evaluates the query against src and stores the result in dst.
func (q *geoQuery) run(s *Store, srcKey, dst []byte) error {
	src, err := s.lookupKind(srcKey, rdb.KindZSet)
	if err != nil {
		return err
	}
	type hit struct {
		member string
		score  float64
		dist   float64
	}
	var hits []hit
	if src != nil {
		if q.fromMember != nil {
			sc, ok := src.ZSet[string(q.fromMember)]
			if !ok {
				return errGeoNoMem
			}
			q.lon, q.lat = geoDecode(sc)
		}
		for _, e := range sortedZ(src.ZSet) {
			// Redis walks geohash boxes by score range: members whose score
			// is not a 52-bit geohash are never found.
			if !(e.score >= 0 && e.score < 1<<52) {
				continue
			}
			lon, lat := geoDecode(e.score)
			// geohashGetDistanceIfInRadiusWGS84 / ...IfInRectangle.
			if q.box && (geoLatDistance(lat, q.lat) > q.height/2 || geoDistance(lon, lat, q.lon, lat) > q.width/2) {
				continue
			}
			d := geoDistance(q.lon, q.lat, lon, lat)
			if !q.box && d > q.radius {
				continue
			}
			hits = append(hits, hit{e.member, e.score, d})
		}
	}
	if q.sort != 0 {
		slices.SortStableFunc(hits, func(a, b hit) int { return q.sort * cmp.Compare(a.dist, b.dist) })
	}
	if q.count > 0 && int64(len(hits)) > q.count {
		hits = hits[:q.count]
	}
	res := make(map[string]float64, len(hits))
	for _, h := range hits {
		if q.storeDist {
			res[h.member] = h.dist / q.unit
		} else {
			res[h.member] = h.score
		}
	}
	s.storeZ(dst, res)
	return nil
}

// cmdGeoRadius is GEORADIUS key lon lat radius unit ... and
// GEORADIUSBYMEMBER key member radius unit ...; only the STORE and
// STOREDIST forms change the keyspace.
func cmdGeoRadius(s *Store, args [][]byte) error {
	q := &geoQuery{}
	i := 2
	if eq(args[0], "GEORADIUS") {
		lon, lat, err := parseLonLat(args[2], args[3])
		if err != nil {
			return err
		}
		q.lon, q.lat = lon, lat
		i = 4
	} else {
		q.fromMember = args[2]
		i = 3
	}
	if i+1 >= len(args) {
		return ErrSyntax
	}
	r, err := parseFloat(args[i])
	if err != nil {
		return err
	}
	if r < 0 {
		return errors.New("radius cannot be negative")
	}
	u, err := geoUnit(args[i+1])
	if err != nil {
		return err
	}
	q.radius, q.unit = r*u, u
	if err := parseGeoOpts(q, args[i+2:], true); err != nil {
		return err
	}
	if q.store == nil {
		_, err := s.lookupKind(args[1], rdb.KindZSet)
		return err
	}
	return q.run(s, args[1], q.store)
}

// cmdGeoSearchStore is GEOSEARCHSTORE dst src FROMMEMBER m|FROMLONLAT lon
// lat BYRADIUS r unit|BYBOX w h unit [ASC|DESC] [COUNT n [ANY]]
// [STOREDIST].
func cmdGeoSearchStore(s *Store, args [][]byte) error {
	q := &geoQuery{}
	if err := parseGeoOpts(q, args[3:], false); err != nil {
		return err
	}
	return q.run(s, args[2], args[1])
}
