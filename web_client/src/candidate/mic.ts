import { createLocalAudioTrack, type LocalAudioTrack } from "livekit-client";

export type MicProblem = "denied" | "no-device" | "in-use" | "insecure" | "unknown";

export const MIC_MESSAGES: Record<MicProblem, { title: string; body: string }> = {
  denied: {
    title: "Microphone access is blocked",
    body:
      "Your browser did not allow this page to use the microphone. Allow it in the browser's site " +
      "settings (the icon next to the address) and press “Try again”, or continue with text chat.",
  },
  "no-device": {
    title: "No microphone found",
    body: "Connect a microphone or headset and press “Try again”, or continue with text chat.",
  },
  "in-use": {
    title: "The microphone is busy",
    body: "Another application is using the microphone. Close it and press “Try again”.",
  },
  insecure: {
    title: "This page cannot use a microphone",
    body: "Microphones only work on secure (https) pages. Open the link exactly as you received it.",
  },
  unknown: {
    title: "The microphone could not start",
    body: "Press “Try again”, or continue with text chat.",
  },
};

export function classifyMicError(err: unknown): MicProblem {
  const name = err instanceof Error ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError")
    return "denied";
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError")
    return "no-device";
  if (name === "NotReadableError" || name === "TrackStartError") return "in-use";
  if (name === "InsecureContext") return "insecure";
  return "unknown";
}

/** Open the microphone for the check (and later publishing); echo cancellation on, since the
 * interviewer's voice plays from the same device. */
export async function openMicrophone(deviceId?: string): Promise<LocalAudioTrack> {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    const err = new Error("insecure context");
    err.name = "InsecureContext";
    throw err;
  }
  return createLocalAudioTrack({
    deviceId: deviceId ? { exact: deviceId } : undefined,
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  });
}
