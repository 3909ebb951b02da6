package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Cluster is the view of the lanewatch nodes sharing this node's store.
type Cluster interface {
	// Nodes lists the live nodes (seen within three heartbeats), ordered by id.
	Nodes(ctx context.Context) (ClusterInfo, error)
}

// ClusterInfo is the body of GET /api/v1/cluster.
type ClusterInfo struct {
	Items []ClusterNode `json:"items"`
	// NextCursor is always empty: every live node is listed.
	NextCursor string `json:"next_cursor"`
	// Node is the id of the node that answered; Leader whether it runs the cluster singletons.
	Node   string `json:"node"`
	Leader bool   `json:"leader"`
}

// ClusterNode is one live node.
type ClusterNode struct {
	ID        string    `json:"id"`
	HTTPAddr  string    `json:"http_addr"`
	MQTTAddr  string    `json:"mqtt_addr"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	Connected int       `json:"connected"`
	Devices   []string  `json:"devices"`
	Self      bool      `json:"self"`
}

// mountCluster registers GET /api/v1/cluster when a Cluster is configured.
func (s *Server) mountCluster(v1 *gin.RouterGroup) {
	if s.o.Cluster == nil {
		return
	}
	v1.GET("/cluster", s.require("admin", "operator", "viewer"), func(c *gin.Context) {
		info, err := s.o.Cluster.Nodes(c.Request.Context())
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, info)
	})
}
