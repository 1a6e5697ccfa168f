import type { DeliveryConfig } from '../config/types.js';
import type { ExternalRequestTarget } from './run-as.js';

/**
 * The one thing the unprivileged server may ask of the root helper (delivery/helper-main.ts),
 * over the IPC channel of a fork made before root was dropped: run a program target or append
 * to a file target, for this message. Who it runs as is the helper's decision.
 */
export interface HelperRequest {
  id: number;
  target: ExternalRequestTarget;
  sender: string;
  recipient: string;
  /** The stored message, CRLF line ends. */
  message: Uint8Array;
}

export interface HelperReply {
  id: number;
  ok: boolean;
  status: string;
  /** For the log only. */
  detail: string;
  /** False when a rule refused it before anything ran. */
  ran: boolean;
}

/** Sent once, by root, before the drop: later ones are ignored. */
export interface HelperSetup {
  setup: DeliveryConfig;
}
