package host

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (h *Host) startHTTP() error {
	if h.cfg.HTTPAddr == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", h.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("cannot listen for HTTP on %s: %w (pick another with --http, or --http off)", h.cfg.HTTPAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(h.cfg.Registry, promhttp.HandlerOpts{Registry: h.cfg.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", h.serveReady)
	h.http = &http.Server{Handler: mux}
	h.httpAddr = ln.Addr()
	h.wg.Go(func() {
		if err := h.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("HTTP server stopped", "err", err)
		}
	})
	return nil
}

// serveReady answers 200 once the host loaded its apps and is connected to
// NATS, 503 with the reason otherwise.
func (h *Host) serveReady(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-h.ready:
	default:
		http.Error(w, "loading apps", http.StatusServiceUnavailable)
		return
	}
	if !h.nc.IsConnected() {
		http.Error(w, "not connected to NATS", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}
