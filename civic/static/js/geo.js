// The phone's position while the worker is capturing. Phone browsers strip GPS
// from uploaded photos, so the position is taken here, at capture time.
export class PositionWatch {
  constructor(onChange) {
    this.onChange = onChange;
    this.best = null;
    this.error = navigator.geolocation ? null : "unsupported";
    this.id = null;
  }

  start() {
    if (!navigator.geolocation) return this;
    this.id = navigator.geolocation.watchPosition(
      (p) => {
        const fix = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy: p.coords.accuracy, at: p.timestamp || Date.now() };
        // Keep a better fix, or a newer one once the old is a minute stale.
        if (!this.best || fix.accuracy <= this.best.accuracy || fix.at - this.best.at > 60000) this.best = fix;
        this.error = null;
        this.onChange(this);
      },
      (e) => {
        this.error = e.code === 1 ? "denied" : e.code === 3 ? "timeout" : "unavailable";
        this.onChange(this);
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
    );
    return this;
  }

  stop() {
    if (this.id !== null) navigator.geolocation.clearWatch(this.id);
    this.id = null;
  }
}
