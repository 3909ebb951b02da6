// Package devices owns the device registry: creating, updating and deleting devices, hashing and
// checking their passwords (bcrypt), seeding the registry from configs/devices.yaml, and an
// in-memory view of each device's attributes for the hot path.
//
// It satisfies gateway.Authenticator and gateway.DeviceLookup implicitly. It must not know MQTT
// topics or payloads, and must never log or return a password or its hash.
package devices
