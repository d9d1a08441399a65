// Package lightningdtest is a simulated lightningd for tests and the demo:
// a JSON-RPC 2.0 server on a unix socket that speaks like lightningd
// v24-v26 (same rune format and checks, same error codes and messages,
// same result shapes for the handful of built-in commands clnrest relies
// on), so the project's tests can run where no lightningd is installed.
//
// The facts it reproduces were read from Core Lightning's source; each
// file names the upstream file and function it follows.
package lightningdtest
