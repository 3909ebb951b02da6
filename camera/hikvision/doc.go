// Package hikvision decodes the alerts Hikvision cameras push over HTTP (ISAPI
// EventNotificationAlert XML, alone or in multipart/form-data with JPEG picture parts) into
// vendor-neutral alerts with normalised boxes.
//
// It owns the wire format only: it must not know lanewatch camera types, devices or storage.
package hikvision
