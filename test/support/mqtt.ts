import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { randomHex } from '../../src/core/ids.js';

/** The broker the MQTT tests use (env SLUICE_TEST_MQTT, default the machine's Mosquitto). */
export const MQTT_URL = process.env['SLUICE_TEST_MQTT'] ?? 'mqtt://127.0.0.1:1883';

/**
 * Why the MQTT broker cannot be used here (undefined when it can). Under `CI=true` a missing
 * broker fails instead.
 */
export async function mqttUnavailable(): Promise<string | undefined> {
  try {
    const client = await mqtt.connectAsync(MQTT_URL, {
      connectTimeout: 2_000,
      reconnectPeriod: 0,
    });
    await client.endAsync(true);
    return undefined;
  } catch (error) {
    const reason = `the MQTT broker at ${MQTT_URL} is not reachable (${(error as Error).message})`;
    if (process.env['CI'] === 'true') throw new Error(`${reason}; CI needs it`, { cause: error });
    return reason;
  }
}

/** A client for publishing and subscribing in tests. */
export async function connectTestClient(): Promise<MqttClient> {
  return mqtt.connectAsync(MQTT_URL, { protocolVersion: 5, reconnectPeriod: 0 });
}

const clientIds: string[] = [];

/** A client id no other test uses; {@link endTestSessions} ends its session on the broker. */
export function uniqueClientId(): string {
  const id = `sluice-test-${randomHex(6)}`;
  clientIds.push(id);
  return id;
}

/** A topic prefix no other test uses. */
export function uniqueTopic(): string {
  return `sluice-test/${randomHex(6)}`;
}

/** Ends the persistent sessions the tests made, so the broker does not keep queueing for them. */
export async function endTestSessions(): Promise<void> {
  for (const clientId of clientIds.splice(0)) {
    const client = await mqtt.connectAsync(MQTT_URL, {
      clientId,
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 0 },
    });
    await client.endAsync(true);
  }
}
