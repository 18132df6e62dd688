import { useMediaDeviceSelect, useTrackVolume } from "@livekit/components-react";
import type { LocalAudioTrack } from "livekit-client";

/** A live input level and a device picker for the microphone being checked. */
export function MicCheck({ track }: { track: LocalAudioTrack }) {
  const level = useTrackVolume(track);
  const { devices, activeDeviceId, setActiveMediaDevice } = useMediaDeviceSelect({
    kind: "audioinput",
    track,
  });
  const percent = Math.min(100, Math.round(level * 400));
  return (
    <div className="mic-check">
      <label htmlFor="mic-select">Microphone</label>
      <select
        id="mic-select"
        value={activeDeviceId}
        onChange={(e) => void setActiveMediaDevice(e.target.value)}
        disabled={devices.length === 0}
      >
        {devices.length === 0 && <option value="">Default microphone</option>}
        {devices.map((d, i) => (
          <option key={d.deviceId || i} value={d.deviceId}>
            {d.label || `Microphone ${i + 1}`}
          </option>
        ))}
      </select>
      <div
        className="meter"
        role="meter"
        aria-label="Microphone level"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        data-testid="mic-level"
      >
        <div className="meter-fill" style={{ width: `${percent}%` }} />
      </div>
      <p className="hint">Say a few words: the bar should move.</p>
    </div>
  );
}
