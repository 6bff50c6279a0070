/** Tunable thresholds of the detectors, with the defaults the quality report was measured with. */
export interface DetectorSettings {
  /** An open alert closes after this long without a new trigger (de-duplication). */
  calmMinutes: number;
  spike: {
    /** Per-minute EWMA weight of the request-rate baseline. */
    alpha: number;
    /** Minutes of history before the detector may alert. */
    warmupMinutes: number;
    /** Calls in one minute below which nothing is a spike. */
    minCalls: number;
    /** A spike is at least this many times the baseline… */
    factor: number;
    /** …and this many standard deviations above it. */
    sigmas: number;
  };
  errors: {
    /** Per-minute EWMA weight of the error-ratio baseline. */
    alpha: number;
    warmupMinutes: number;
    /** Sliding window, minutes. */
    windowMinutes: number;
    /** Errors in the window below which nothing is a burst. */
    minErrors: number;
    /** The window's error ratio must be at least baseline × factor and baseline + margin. */
    factor: number;
    margin: number;
  };
  time: {
    /** Days of history before the detector may alert. */
    warmupDays: number;
    /** Calls per week a key needs to have a meaningful weekly profile. */
    minWeeklyCalls: number;
    /** An hour of the week is silent when it (and its neighbours) averaged fewer calls per week. */
    silentBelow: number;
    /** Calls within one silent hour that raise the alert. */
    minCalls: number;
  };
  location: {
    warmupDays: number;
    warmupCalls: number;
    /** Locations remembered per key (oldest forgotten first). */
    maxLocations: number;
  };
  sharing: {
    /** Per-hour EWMA weight of the distinct-client baseline. */
    alpha: number;
    warmupHours: number;
    /** Distinct clients in one hour below which nothing is sharing. */
    minClients: number;
    factor: number;
    sigmas: number;
    /** Distinct clients tracked per key and hour (beyond it the count is capped). */
    maxTracked: number;
  };
  flood: {
    /** Invalid keys from one address within the window that raise the alert. */
    threshold: number;
    windowMinutes: number;
  };
}

export const DEFAULT_DETECTOR_SETTINGS: DetectorSettings = {
  calmMinutes: 30,
  spike: { alpha: 0.05, warmupMinutes: 1500, minCalls: 30, factor: 5, sigmas: 8 },
  errors: { alpha: 0.01, warmupMinutes: 1440, windowMinutes: 5, minErrors: 10, factor: 4, margin: 0.3 },
  time: { warmupDays: 14, minWeeklyCalls: 100, silentBelow: 0.25, minCalls: 3 },
  location: { warmupDays: 7, warmupCalls: 100, maxLocations: 64 },
  sharing: { alpha: 0.05, warmupHours: 48, minClients: 20, factor: 2, sigmas: 6, maxTracked: 5000 },
  flood: { threshold: 30, windowMinutes: 5 },
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function detectorSettings(overrides: DeepPartial<DetectorSettings> = {}): DetectorSettings {
  const d = DEFAULT_DETECTOR_SETTINGS;
  const o = overrides;
  return {
    calmMinutes: o.calmMinutes ?? d.calmMinutes,
    spike: { ...d.spike, ...o.spike },
    errors: { ...d.errors, ...o.errors },
    time: { ...d.time, ...o.time },
    location: { ...d.location, ...o.location },
    sharing: { ...d.sharing, ...o.sharing },
    flood: { ...d.flood, ...o.flood },
  };
}
