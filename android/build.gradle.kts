// PatchRT as an Android library (AAR): the Kotlin that UniFFI generates from
// the `patchrt-ffi` crate, the small Android layer in src/main/kotlin, and
// libpatchrt_ffi.so for each ABI. scripts/android.sh fills src/main/jniLibs and
// the generated sources; neither is committed. Build steps: docs/mobile.md.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.0.21"
    `maven-publish`
}

group = "dev.patchrt"
version = "0.1.0"

android {
    namespace = "dev.patchrt"
    compileSdk = 35

    defaultConfig {
        // 26: the first level with Bitmap.Config.HARDWARE and the one
        // scripts/android.sh links the .so files against (cargo ndk -P 26).
        minSdk = 26
        // JNA and the generated classes are reached by reflection; keep them
        // in apps that shrink their code.
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            // Kotlin sources: the hand-written layer and the UniFFI output.
            java.srcDirs("src/main/kotlin", "../bindings/generated/kotlin")
            // <abi>/libpatchrt_ffi.so, written by scripts/android.sh.
            jniLibs.srcDirs("src/main/jniLibs")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // The generated Kotlin calls the Rust library through JNA. The @aar
    // artifact carries JNA's own libjnidispatch.so for every Android ABI.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
}

// `gradle publishToMavenLocal` makes dev.patchrt:patchrt-android:0.1.0
// available to an app, with the JNA dependency in its POM.
publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "patchrt-android"
            afterEvaluate {
                from(components["release"])
            }
        }
    }
}
