// Package drivers is the parent of Hexiao's device drivers. Each driver is
// its own subpackage, adapting one kind of device: serial ports, barcode
// scanners, the cash-register (ECR) link, ESC/POS printers, codes read
// from images and the verdict sounds. This package itself holds no code.
//
// Drivers import neither terminal nor hub: they turn bytes and key events
// into values and back, and the terminal wires them in.
package drivers
