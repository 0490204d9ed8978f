function e(){return"<p>This chunk was loaded lazily from the CDN.</p>"}export{e as details};
