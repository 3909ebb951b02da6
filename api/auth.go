package api

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
)

// Token is an API bearer token with its role.
type Token struct {
	Name  string
	Token string
	// Role: admin | operator | department:ID | contractor:ID | viewer | inspector | reviewer
	Role string
}

// Principal is the authenticated caller.
type Principal struct {
	Name string
	Role string // admin | operator | department | contractor | viewer | inspector | reviewer | reviewer
	ID   string // department or contractor id
}

// Actor is how the principal is recorded in timelines.
func (p Principal) Actor() string {
	if p.ID != "" {
		return p.Role + ":" + p.ID
	}
	if p.Name != "" {
		return p.Role + ":" + p.Name
	}
	return p.Role
}

// Can reports whether the principal has one of the roles.
func (p Principal) Can(roles ...string) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

func parseRole(r string) (role, id string) {
	role, id, _ = strings.Cut(r, ":")
	return role, id
}

type tokenEntry struct {
	sum [32]byte
	p   Principal
}

const principalKey = "lanewatch.principal"

// authenticate resolves the bearer token; 401 if missing or unknown.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		c.Header("WWW-Authenticate", `Bearer realm="lanewatch"`)
		s.fail(c, lanewatch.Errorf(lanewatch.EUnauthorized, "missing bearer token"))
		return
	}
	if p, ok := s.tokenPrincipal(tok); ok {
		c.Set(principalKey, p)
		c.Next()
		return
	}
	c.Header("WWW-Authenticate", `Bearer realm="lanewatch", error="invalid_token"`)
	s.fail(c, lanewatch.Errorf(lanewatch.EUnauthorized, "unknown bearer token"))
}

func principal(c *gin.Context) Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(Principal)
	return pr
}

// require aborts with 403 unless the principal has one of roles.
func (s *Server) require(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !principal(c).Can(roles...) {
			s.fail(c, forbidden("role %s may not do this", principal(c).Role))
			return
		}
		c.Next()
	}
}
