// Package e2e drives the real clnrest binary the way lightningd does,
// under the simulated lightningd of internal/lightningdtest, over real
// HTTP(S), curl, and real Socket.IO clients (Python, Node, Chromium).
package e2e
